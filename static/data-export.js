// "Download everything I own": while the zip is being made, poll its status and show the
// progress; once it is ready (or failed), reload the page, which then offers the link.
(function () {
  "use strict";
  var box = document.querySelector("[data-export-status]");
  if (!box) return;
  var url = box.getAttribute("data-export-status");
  var bar = box.querySelector("progress");
  var text = document.getElementById("export-progress-text");
  var shown = -1;

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { window.setTimeout(poll, 5000); return; }
        var exp = data.export;
        if (exp.status === "ready" || exp.status === "failed") { window.location.reload(); return; }
        var percent = Math.round(exp.progress * 100);
        bar.value = exp.progress;
        bar.textContent = percent + "%";
        // Announced in steps of ten, not on every poll.
        if (Math.floor(percent / 10) !== Math.floor(shown / 10)) {
          text.textContent = percent + "% done. This page updates by itself; you may also leave and come back from your account page.";
          shown = percent;
        }
        window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();

/* "Copy link" for the invitation links on a partnership page. Without this script each link
   shows in a read-only field to copy by hand. With it, the field is tucked away behind a
   "Copy link" button that writes the link to the clipboard; when the browser refuses (no
   Clipboard API, no permission, not a secure context), the field comes back with the link
   selected, ready for Ctrl+C, and says so. */
(function () {
  "use strict";

  function say(box, text) {
    var status = box.querySelector(".copy-status");
    if (status) status.textContent = text;
  }

  function showField(box, input) {
    box.classList.remove("is-tucked");
    input.focus();
    input.select();
    say(box, "Copy the selected link with Ctrl+C (⌘C on a Mac).");
  }

  function copy(button) {
    var input = document.getElementById(button.getAttribute("data-copy-for"));
    if (!input) return;
    var box = input.closest("[data-copy-link]");
    if (!navigator.clipboard || !window.isSecureContext) {
      showField(box, input);
      return;
    }
    navigator.clipboard.writeText(input.value).then(
      function () {
        say(box, "Link copied. Paste it into a message to " + (input.getAttribute("data-email") || "them") + ".");
      },
      function () {
        showField(box, input);
      }
    );
  }

  function start() {
    document.querySelectorAll("button[data-copy-for]").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-copy-for"));
      if (!input) return;
      input.closest("[data-copy-link]").classList.add("is-tucked");
      button.hidden = false;
      button.addEventListener("click", function () {
        copy(button);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

/* Ask before a destructive form submits: a form with data-confirm="<what will happen>"
   opens one shared <dialog> (Cancel focused first; Escape cancels) instead of submitting.
   Confirming submits the form as it was; cancelling returns focus to its button.
   Without this script the form simply submits. Scripts ask through the same dialog with
   window.videocoachConfirm(message, {label, danger, returnFocus}): a promise of true
   (confirmed) or false (cancelled: the focus goes back to returnFocus). */
(function () {
  "use strict";
  var dialog = null;
  var message = null;
  var confirmButton = null;
  var pending = null; // {message, label, danger, done(confirmed)} while the dialog is open

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "confirm";
    dialog.id = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-message");
    message = document.createElement("p");
    message.id = "confirm-message";
    var choice = document.createElement("form");
    choice.method = "dialog";
    choice.className = "button-row";
    var cancel = document.createElement("button");
    cancel.type = "submit";
    cancel.value = "cancel";
    cancel.className = "quiet";
    cancel.autofocus = true;
    cancel.textContent = "Cancel";
    confirmButton = document.createElement("button");
    confirmButton.type = "submit";
    confirmButton.value = "confirm";
    choice.appendChild(cancel);
    choice.appendChild(confirmButton);
    dialog.appendChild(message);
    dialog.appendChild(choice);
    document.body.appendChild(dialog);
    dialog.addEventListener("close", closed);
  }

  function open(request) {
    if (!dialog) build();
    pending = request;
    message.textContent = request.message;
    confirmButton.textContent = request.label || "Confirm";
    confirmButton.className = request.danger ? "danger" : "primary";
    dialog.returnValue = "";
    dialog.showModal();
    dialog.querySelector("button[value=cancel]").focus();
  }

  function ask(form, submitter) {
    open({
      message: form.dataset.confirm,
      label: form.dataset.confirmLabel,
      danger: form.hasAttribute("data-confirm-danger"),
      done: function (confirmed) {
        if (confirmed) {
          form.dataset.confirmed = "1";
          if (form.requestSubmit) form.requestSubmit(submitter || undefined);
          else form.submit();
        } else if (submitter) {
          submitter.focus();
        }
      }
    });
  }

  function closed() {
    var asked = pending;
    pending = null;
    if (asked) asked.done(dialog.returnValue === "confirm");
  }

  window.videocoachConfirm = function (text, options) {
    options = options || {};
    return new Promise(function (resolve) {
      open({
        message: text,
        label: options.label,
        danger: !!options.danger,
        done: function (confirmed) {
          if (!confirmed && options.returnFocus && options.returnFocus.isConnected) options.returnFocus.focus();
          resolve(confirmed);
        }
      });
    });
  };

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) return;
    if (form.dataset.confirmed) {
      delete form.dataset.confirmed; // asked and confirmed: this once, let it go
      return;
    }
    event.preventDefault();
    ask(form, event.submitter || form.querySelector("button[type=submit]"));
  });
})();

/* Ask before a destructive form submits: a form with data-confirm="<what will happen>"
   opens one shared <dialog> (Cancel focused first; Escape cancels) instead of submitting.
   Confirming submits the form as it was; cancelling returns focus to its button.
   Without this script the form simply submits. */
(function () {
  "use strict";
  var dialog = null;
  var message = null;
  var confirmButton = null;
  var pending = null; // {form, submitter} while the dialog is open

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

  function ask(form, submitter) {
    if (!dialog) build();
    pending = { form: form, submitter: submitter };
    message.textContent = form.dataset.confirm;
    confirmButton.textContent = form.dataset.confirmLabel || "Confirm";
    confirmButton.className = form.hasAttribute("data-confirm-danger") ? "danger" : "primary";
    dialog.returnValue = "";
    dialog.showModal();
    dialog.querySelector("button[value=cancel]").focus();
  }

  function closed() {
    var asked = pending;
    pending = null;
    if (!asked) return;
    if (dialog.returnValue === "confirm") {
      asked.form.dataset.confirmed = "1";
      if (asked.form.requestSubmit) asked.form.requestSubmit(asked.submitter || undefined);
      else asked.form.submit();
    } else if (asked.submitter) {
      asked.submitter.focus();
    }
  }

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

// ARIA tabs (the WAI-ARIA Authoring Practices pattern) for server-rendered markup:
// <div role="tablist" data-tabs="<key>"> with role="tab" buttons, each aria-controls its
// role="tabpanel". The page arrives with one tab selected and the other panels hidden;
// this adds clicks, arrow keys, Home and End, and remembers the chosen tab for the tab's
// key while the browser tab lives (a reload in a meeting keeps your notes open).
// window.videocoachTabs.select(tabId) lets other scripts bring a panel forward.
(function () {
  "use strict";

  function tabsOf(list) { return Array.prototype.slice.call(list.querySelectorAll('[role="tab"]')); }

  function select(tab, focus) {
    var list = tab.closest('[role="tablist"]');
    if (!list) return;
    tabsOf(list).forEach(function (other) {
      var chosen = other === tab;
      other.setAttribute("aria-selected", chosen ? "true" : "false");
      other.tabIndex = chosen ? 0 : -1;
      var panel = document.getElementById(other.getAttribute("aria-controls"));
      if (panel) panel.hidden = !chosen;
    });
    if (focus) tab.focus();
    try { window.sessionStorage.setItem("videocoach-tab:" + list.dataset.tabs, tab.id); } catch (e) { /* storage off */ }
    tab.dispatchEvent(new CustomEvent("videocoach:tab", { bubbles: true, detail: { id: tab.id } }));
  }

  function setUp(list) {
    list.addEventListener("click", function (event) {
      var tab = event.target.closest('[role="tab"]');
      if (tab) select(tab, false);
    });
    list.addEventListener("keydown", function (event) {
      var tabs = tabsOf(list);
      var at = tabs.indexOf(event.target.closest('[role="tab"]'));
      if (at < 0 || event.altKey || event.ctrlKey || event.metaKey) return;
      var next = null;
      if (event.key === "ArrowRight") next = tabs[(at + 1) % tabs.length];
      else if (event.key === "ArrowLeft") next = tabs[(at - 1 + tabs.length) % tabs.length];
      else if (event.key === "Home") next = tabs[0];
      else if (event.key === "End") next = tabs[tabs.length - 1];
      if (!next) return;
      event.preventDefault();
      select(next, true);
    });
    var remembered = null;
    try { remembered = window.sessionStorage.getItem("videocoach-tab:" + list.dataset.tabs); } catch (e) { /* storage off */ }
    var tab = remembered && document.getElementById(remembered);
    if (tab && list.contains(tab) && tab.getAttribute("aria-selected") !== "true") select(tab, false);
  }

  Array.prototype.forEach.call(document.querySelectorAll('[role="tablist"][data-tabs]'), setUp);

  window.videocoachTabs = {
    select: function (id) {
      var tab = document.getElementById(id);
      if (tab && tab.getAttribute("aria-selected") !== "true") select(tab, false);
    }
  };
})();

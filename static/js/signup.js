/* Progressive enhancement for the signup and manage forms; everything works without it. */
(function () {
  "use strict";

  // Fill the time zone from the browser, unless the person already changed it. Asking Intl for the
  // zone loads the browser's time-zone data (about 50 ms, 200 ms on a slow phone), so it waits for
  // the first touch of the form instead of blocking the page's start; submit is the latest moment.
  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }
  document.querySelectorAll("select[data-browser-timezone]").forEach(function (select) {
    var form = select.form;
    var done = false;
    function preselect() {
      if (done) {
        return;
      }
      done = true;
      var zone = browserZone();
      var known = Array.prototype.some.call(select.options, function (option) {
        return option.value === zone;
      });
      if (zone && known && select.value === select.getAttribute("data-server-default")) {
        select.value = zone;
      }
    }
    if (!form) {
      preselect();
      return;
    }
    ["focusin", "pointerdown", "submit"].forEach(function (type) {
      form.addEventListener(type, preselect, { capture: true });
    });
  });

  // The weekday matters only for weekly digests: hide it while "Daily" is chosen.
  document.querySelectorAll("form").forEach(function (form) {
    var weekly = form.querySelectorAll("[data-weekly-only]");
    var radios = form.querySelectorAll("input[name=frequency]");
    if (!weekly.length || !radios.length) {
      return;
    }
    function sync() {
      var checked = form.querySelector("input[name=frequency]:checked");
      var isWeekly = checked !== null && checked.value === "weekly";
      weekly.forEach(function (element) {
        element.hidden = !isWeekly;
      });
    }
    radios.forEach(function (radio) {
      radio.addEventListener("change", sync);
    });
    sync();
  });
})();

/* Progressive enhancement for the signup and manage forms; everything works without it. */
(function () {
  "use strict";

  // Fill the time zone from the browser, unless the person already changed it.
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    zone = "";
  }
  document.querySelectorAll("select[data-browser-timezone]").forEach(function (select) {
    var known = Array.prototype.some.call(select.options, function (option) {
      return option.value === zone;
    });
    if (zone && known && select.value === select.getAttribute("data-server-default")) {
      select.value = zone;
    }
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

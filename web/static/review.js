// Keyboard shortcuts for reviewers on a desktop. The pages work without this file: every action
// here is a click on a button or a link that is already on the page.
(function () {
  "use strict";

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function click(selector, root) {
    var element = (root || document).querySelector(selector);
    if (element) {
      element.click();
      return true;
    }
    return false;
  }

  function onEntryPage(key) {
    if (key === "a") return click("#decide-approve");
    if (key === "f" || key === "r") {
      var reason = document.querySelector("#decision-form select[name=reason]");
      if (reason && !reason.value) {
        reason.focus();
        return true;
      }
      return click(key === "f" ? "#decide-needs-fix" : "#decide-reject");
    }
    if (key === "j") return click("#review-next");
    if (key === "k") return click("#review-previous");
    return false;
  }

  function onQueue(key) {
    var cards = Array.prototype.slice.call(document.querySelectorAll(".review-card:not(.decided)"));
    if (!cards.length) return false;
    var current = cards.indexOf(document.activeElement && document.activeElement.closest(".review-card"));
    if (key === "j" || key === "k") {
      var next = current < 0 ? 0 : current + (key === "j" ? 1 : -1);
      next = Math.max(0, Math.min(cards.length - 1, next));
      cards[next].focus();
      cards[next].scrollIntoView({ block: "nearest" });
      return true;
    }
    if (current < 0) return false;
    if (key === "a") return click("button.approve", cards[current]);
    if (key === "o") return click("h2 a", cards[current]);
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var key = event.key;
    var handled = document.getElementById("review-entry") ? onEntryPage(key) : onQueue(key);
    if (handled) event.preventDefault();
  });
})();

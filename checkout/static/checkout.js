// Progressive enhancement only: the form works without this file.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form) { return; }
  var number = document.getElementById("card_number");
  var brand = document.getElementById("card-brand");
  var button = document.getElementById("pay-button");

  function brandOf(digits) {
    if (/^4/.test(digits)) { return "Visa"; }
    var two = parseInt(digits.slice(0, 2), 10), four = parseInt(digits.slice(0, 4), 10);
    if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) { return "Mastercard"; }
    return "";
  }

  number.addEventListener("input", function () {
    brand.textContent = brandOf(number.value.replace(/[\s-]/g, ""));
  });

  form.addEventListener("submit", function (event) {
    if (button.disabled) { event.preventDefault(); return; }
    button.disabled = true;  // a double click cannot pay twice
    button.textContent = button.getAttribute("data-processing") || "Processing…";
  });
}());

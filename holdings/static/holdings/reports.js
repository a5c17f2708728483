// The report pages' Print button (no inline script: the site's content security policy).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("report-print");
  if (button) {
    button.hidden = false;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      window.print();
    });
  }
});

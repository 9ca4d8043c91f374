// The print view's button (no inline script: the Content-Security-Policy forbids it).
document.addEventListener("DOMContentLoaded", function () {
  var b = document.getElementById("print-button");
  if (b) { b.addEventListener("click", function () { window.print(); }); }
});

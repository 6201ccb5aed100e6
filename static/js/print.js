// "Print" buttons (data-action="print"): the pages' Content-Security-Policy allows no inline handlers.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-action=print]")) {
    window.print();
  }
});

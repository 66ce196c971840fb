// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-toggle]");
  if (toggle) {
    const target = document.getElementById(toggle.dataset.toggle);
    if (target) { target.hidden = !target.hidden; }
  }
});
// A form whose button says what it is doing (data-busy) while a slow request runs, so it is not sent twice
// (the pressed one: a form may have several, e.g. Add to dataset and Evaluate on the traces list).
document.addEventListener("submit", (event) => {
  const button = event.submitter ? event.submitter.closest("button[data-busy]") : event.target.querySelector("button[data-busy]");
  if (button) { button.disabled = true; button.textContent = button.dataset.busy; }
});

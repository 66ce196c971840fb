// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-toggle]");
  if (toggle) {
    const target = document.getElementById(toggle.dataset.toggle);
    if (target) { target.hidden = !target.hidden; }
  }
});

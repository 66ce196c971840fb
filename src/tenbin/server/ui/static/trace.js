// Traces list: leave empty fields out of the GET form's URL so shared links stay short and readable.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form.trace-filters");
  if (!form) { return; }
  for (const field of form.querySelectorAll("input[name]")) {
    if (field.value === "") { field.disabled = true; }
  }
});

// Traces list: "select all on this page" ticks every row; unticking a row unticks it (the form
// sends every row's id when it is ticked, which is also how it works without JavaScript). The
// Evaluate control says how many spans are ticked.
const ROWS = 'input[name="span_id"][form="trace-selection"]';
document.addEventListener("change", (event) => {
  const box = event.target;
  if (box.matches("[data-select-all]")) {
    for (const row of document.querySelectorAll(ROWS)) { row.checked = box.checked; }
  } else if (box.matches(ROWS) && !box.checked) {
    const all = document.querySelector("[data-select-all]");
    if (all) { all.checked = false; }
  }
  const count = document.querySelector("[data-ticked-count]");
  if (count) { count.textContent = document.querySelectorAll(ROWS + ":checked").length; }
});

// Enter in a control that shares a form with another (Evaluate beside Add to dataset) presses its own button.
document.addEventListener("keydown", (event) => {
  const group = event.key === "Enter" && event.target.matches("input") && event.target.closest("[data-enter-clicks]");
  if (!group) { return; }
  event.preventDefault();
  group.querySelector(group.dataset.enterClicks).click();
});

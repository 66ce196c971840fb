// Traces list: leave empty fields out of the GET form's URL so shared links stay short and readable.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form.trace-filters");
  if (!form) { return; }
  for (const field of form.querySelectorAll("input[name]")) {
    if (field.value === "") { field.disabled = true; }
  }
});

// Traces list: "select all on this page" ticks every row; unticking a row unticks it (the form
// sends every row's id when it is ticked, which is also how it works without JavaScript).
document.addEventListener("change", (event) => {
  const box = event.target;
  if (box.matches("[data-select-all]")) {
    for (const row of document.querySelectorAll('input[name="span_id"][form="add-to-dataset"]')) { row.checked = box.checked; }
  } else if (box.matches('input[name="span_id"][form="add-to-dataset"]') && !box.checked) {
    const all = document.querySelector("[data-select-all]");
    if (all) { all.checked = false; }
  }
});

// Traces list: leave empty fields out of the GET form's URL so shared links stay short and readable.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form.trace-filters");
  if (!form) { return; }
  for (const field of form.querySelectorAll("input[name]")) {
    if (field.value === "") { field.disabled = true; }
  }
});

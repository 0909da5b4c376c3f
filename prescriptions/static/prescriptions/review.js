// The review workbench: a refused decision (400/409/422) comes back as the decision panel
// with the message at its field; htmx would otherwise drop an error response unswapped.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if ([400, 409, 422].includes(status) && event.detail.elt.closest("[data-swap-refusals]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
// After a swap, put the keyboard focus on the first field in error, or on the outcome.
document.addEventListener("htmx:afterSwap", (event) => {
  const panel = document.getElementById("decision");
  if (!panel || !event.detail.target || event.detail.target.id !== "decision" && !panel.contains(event.detail.target)) return;
  const target = panel.querySelector("[aria-invalid=true]") || panel.querySelector("#decision-done");
  if (target) { if (!target.hasAttribute("tabindex") && target.tagName === "P") target.setAttribute("tabindex", "-1"); target.focus(); }
});

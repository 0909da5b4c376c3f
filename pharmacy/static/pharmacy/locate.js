// "Use my current location" on the get-the-medicine page: fill the location form from the
// browser's geolocation and submit it (htmx then swaps in the delivery and pickup choices).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-locate]");
  if (!button) return;
  const form = button.form;
  const status = document.getElementById("locate-status");
  const unavailable = () => {
    status.textContent = button.dataset.unavailable;
    const details = form.querySelector("details");
    if (details) details.open = true;
  };
  if (!navigator.geolocation) { unavailable(); return; }
  status.textContent = button.dataset.locating;
  navigator.geolocation.getCurrentPosition((position) => {
    form.elements.lat.value = position.coords.latitude.toFixed(6);
    form.elements.lng.value = position.coords.longitude.toFixed(6);
    status.textContent = "";
    form.requestSubmit();
  }, unavailable, { timeout: 10000, maximumAge: 600000 });
});

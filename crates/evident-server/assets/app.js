// evident: the little the pages do in the browser. No inline script anywhere (the CSP forbids it).
// Evidence upload: drag and drop onto the file field, and a progress bar while the files go up.
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-upload]")) {
    const input = form.querySelector("input[type=file]");
    const progress = form.querySelector("progress");
    if (input) {
      input.addEventListener("dragenter", () => input.classList.add("dragging"));
      input.addEventListener("dragleave", () => input.classList.remove("dragging"));
      input.addEventListener("drop", () => input.classList.remove("dragging"));
    }
    form.addEventListener("submit", (event) => {
      if (!progress || !window.XMLHttpRequest) return;
      event.preventDefault();
      const request = new XMLHttpRequest();
      request.open("POST", form.action);
      progress.hidden = false;
      request.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 100);
      });
      request.addEventListener("load", () => {
        // The server answers with the page to show (a redirect followed, or the form with its errors).
        if (request.responseURL && request.responseURL !== form.action) {
          window.location.assign(request.responseURL);
        } else {
          document.open();
          document.write(request.responseText);
          document.close();
        }
      });
      request.addEventListener("error", () => { progress.hidden = true; form.submit(); });
      request.send(new FormData(form));
    });
  }
});

// Imports: the answer to a check or an import replaces its part of the page, a refusal (413, 422:
// the reason or every row problem listed) too; the chosen file stays in its field (hx-preserve)
// for the confirm.
document.addEventListener("htmx:beforeSwap", (event) => {
  const elt = event.detail.requestConfig && event.detail.requestConfig.elt;
  const refused = event.detail.xhr.status === 413 || event.detail.xhr.status === 422;
  if (refused && elt && elt.closest && elt.closest("[data-import]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

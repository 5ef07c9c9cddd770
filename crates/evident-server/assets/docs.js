// Starts Swagger UI on evident's OpenAPI document. Served as a file of its own: the page's
// Content-Security-Policy allows no inline script. Nothing is fetched from elsewhere (no
// validator badge, no fonts). Signed in with a session, a change sends the session's CSRF token,
// read once from GET /api/me; with "Authorize" and an API token, none is needed.
(function () {
  "use strict";
  var csrf = null;
  fetch("/api/me", { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (me) { if (me && me.csrf_token) { csrf = me.csrf_token; } })
    .catch(function () {});
  window.addEventListener("load", function () {
    window.ui = SwaggerUIBundle({
      url: "/api/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      validatorUrl: null,
      requestInterceptor: function (request) {
        if (csrf && request.method && !/^(GET|HEAD|OPTIONS)$/i.test(request.method)) {
          request.headers["X-CSRF-Token"] = csrf;
        }
        return request;
      }
    });
  });
})();

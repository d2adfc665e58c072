// Starts Swagger UI on /api/docs from the server's own OpenAPI document.
// A separate file (not an inline script) so the page's Content-Security-Policy
// can allow scripts from this server only.
"use strict";
window.addEventListener("load", function () {
  window.ui = window.SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    displayOperationId: false,
    displayRequestDuration: true,
    filter: true,
    showExtensions: false,
    tryItOutEnabled: false,
    persistAuthorization: false,
    // No online validator badge: it would send the document elsewhere.
    validatorUrl: null,
  });
});

// Kept out of index.html so the page runs under a CSP without inline script.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // The public validator would be a request to another site; the document is checked in tests.
  validatorUrl: null,
  // The key stays in this page's memory; nothing is written to the browser's storage.
  persistAuthorization: false,
});

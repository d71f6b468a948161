// Renders the API description this server publishes. A file of its own,
// not an inline script, so the page's Content-Security-Policy can allow
// scripts from this server only.
window.ui = SwaggerUIBundle({
  url: "/openapi.yaml",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
});

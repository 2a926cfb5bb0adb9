// The API reference (/docs): Swagger UI, loaded by a classic <script> before this module
// (swagger-ui-dist from npm), rendering the app's OpenAPI document.

const root = document.getElementById("swagger-ui");
const csrfToken = root.dataset.csrfToken;

window.SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  domNode: root,
  deepLinking: true,
  // No badge fetched from validator.swagger.io: the page talks to this site only.
  validatorUrl: null,
  presets: [window.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  // A logged-in browser's writes need the CSRF token; a bearer token needs none.
  requestInterceptor: (request) => {
    if (csrfToken && !request.headers.Authorization) request.headers["X-CSRF-Token"] = csrfToken;
    return request;
  },
});

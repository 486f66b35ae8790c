// Swagger UI for /api/docs/, from our static files. The schema is public and the API takes
// no session, so nothing is added to the requests "Try it out" sends.
(function () {
  var root = document.getElementById("swagger-ui");
  // Swagger UI titles the page with <h1> and each group of operations with <h3>; an <h2>
  // between them keeps the headings in order for screen readers (axe: heading-order). Its
  // title block sits outside its <main>, so it gets a landmark of its own (axe: region).
  var Accessible = function (system) {
    var h = system.React.createElement;
    return {
      wrapComponents: {
        info: function (Original) {
          return function (props) {
            return h("section", { "aria-label": "About this API" }, h(Original, props));
          };
        },
        operations: function (Original) {
          return function (props) {
            return h("div", null, h("h2", { className: "endpoints" }, "Endpoints"), h(Original, props));
          };
        },
      },
    };
  };
  SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    domNode: root,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [Accessible],
    layout: "BaseLayout",
    // Deep links put a link inside each operation's button, which a keyboard or a screen
    // reader cannot reach (axe: nested-interactive).
    deepLinking: false,
  });
})();

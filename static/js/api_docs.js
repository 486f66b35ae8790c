// Swagger UI for /api/docs/, from our static files. The schema is public and the API takes
// no session, so nothing is added to the requests "Try it out" sends.
(function () {
  var root = document.getElementById("swagger-ui");
  // Swagger UI titles the page with <h1>, and each group of operations (and the Authorize
  // dialog) with <h3>; an <h2> after the title keeps the headings in order for screen
  // readers (axe: heading-order). Its title block sits outside its <main>, so it gets a
  // landmark of its own (axe: region); so does the Authorize dialog. The request body's editor and the parameters' boxes get the labels Swagger UI leaves
  // out (axe: label).
  var Accessible = function (system) {
    var h = system.React.createElement;
    var wrapIn = function (tag, attributes) {
      return function (Original) {
        return function (props) {
          return h(tag, attributes, h(Original, props));
        };
      };
    };
    return {
      wrapComponents: {
        info: function (Original) {
          return function (props) {
            return h(
              "section",
              { "aria-label": "About this API" },
              h(Original, props),
              h("h2", { className: "endpoints" }, "Endpoints")
            );
          };
        },
        authorizationPopup: wrapIn("section", {
          "aria-label": "Authorize",
          // Its close button is an icon alone (axe: button-name).
          ref: function (section) {
            var close = section && section.querySelector(".close-modal");
            if (close) close.setAttribute("aria-label", "Close");
          },
        }),
        TextArea: function (Original) {
          return function (props) {
            return h(Original, Object.assign({ "aria-label": "Request body" }, props));
          };
        },
        // A parameter's box shows only a placeholder (its name) and a tooltip.
        JsonSchema_string: function (Original) {
          return function (props) {
            return h(
              "label",
              null,
              h("span", { className: "visually-hidden" }, props.description || "Value"),
              h(Original, props)
            );
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

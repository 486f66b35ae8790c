// Adds a "Copy" button after each element marked data-copy. Without JavaScript the
// text stays selectable as it is; nothing else on the page depends on this file.
document.querySelectorAll("[data-copy]").forEach(function (source) {
  var button = document.createElement("button");
  button.type = "button";
  button.className = "copy";
  button.textContent = "Copy";
  button.setAttribute("aria-label", "Copy " + (source.getAttribute("data-copy") || "text"));
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    });
  });
  source.insertAdjacentElement("afterend", button);
});

// Opens a request from its private link, /requests/<id>/#t=<token>. Browsers never send
// the part after "#" to a server, so the token stays out of every access log; this posts
// it once with the page's form, and the answer sets a cookie for this request's pages.
// Without JavaScript, the owner pastes the link into the same form.
(function () {
  var match = /(?:^#|&)t=([A-Za-z0-9_-]+)/.exec(window.location.hash);
  var form = document.getElementById("open-request");
  if (!match || !form || form.dataset.tried) return;
  // Drop the token from the address bar and history before anything else runs.
  history.replaceState(null, "", window.location.pathname);
  if (document.querySelector("[role=alert]")) return;  // refused already: do not loop
  form.dataset.tried = "1";
  form.elements.token.value = match[1];
  form.submit();
})();

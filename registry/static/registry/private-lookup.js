// Private lookup on the home page (docs/mirroring.md, "Private lookups").
// The browser hashes the repository with Web Crypto and fetches the range files of the
// hashes' first 3 hex characters from /mirror/ranges/: the portal never receives the name.
// Each file is checked against the SHA-256 the checkpoint's manifest lists for it.
// Without JavaScript (or Web Crypto) the form's ordinary "Look up" is the only check.
"use strict";
(function () {
  var box = document.getElementById("private-lookup");
  var input = document.getElementById("lookup-q");
  if (!box || !input || !window.crypto || !window.crypto.subtle || !window.fetch) return;
  var base = box.getAttribute("data-mirror");
  var answer = document.getElementById("private-answer");
  var PREFIX = 3;
  var CASELESS = ["github.com", "gitlab.com", "codeberg.org", "bitbucket.org"];
  box.hidden = false;

  function canonical(text) {
    var value = text.trim().replace(/^[a-z+]+:\/\//i, "").replace(/^git@([^:\/]+):/i, "$1/");
    value = value.replace(/\/+$/, "").replace(/\.git$/i, "").replace(/^\/+/, "");
    var parts = value.split("/");
    if (parts[0].indexOf(".") < 0) parts.unshift("github.com");
    parts[0] = parts[0].toLowerCase();
    if (parts.length < 2 || parts.some(function (p) { return !p; })) return null;
    var joined = parts.join("/");
    return CASELESS.indexOf(parts[0]) >= 0 ? joined.toLowerCase() : joined;
  }

  function keys(subject) {
    var parts = subject.split("/");
    if (parts.length === 2) return [subject + "/*"]; // an owner: its namespace exclusion
    var out = [subject];
    for (var end = 2; end < parts.length; end++) out.push(parts.slice(0, end).join("/") + "/*");
    return out;
  }

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function sha256(bytes) {
    return crypto.subtle.digest("SHA-256", bytes).then(hex);
  }

  function get(path) {
    return fetch(base + path, { credentials: "omit" }).then(function (response) {
      if (!response.ok) throw new Error(path + " answered " + response.status);
      return response.arrayBuffer();
    });
  }

  function say(text, excluded) {
    answer.textContent = text;
    answer.className = excluded ? "status ok" : "status";
  }

  function check(subject) {
    var text = new TextDecoder();
    return get("ranges/latest").then(function (latest) {
      var size = text.decode(latest).trim();
      return get("ranges/" + size + "/manifest").then(function (data) {
        var files = {};
        text.decode(data).split("\n").slice(4).forEach(function (line) {
          var f = line.split(" ");
          if (f.length === 3) files[f[0]] = { where: f[1], digest: f[2] };
        });
        var list = keys(subject);
        return Promise.all(list.map(function (key) {
          return sha256(new TextEncoder().encode(key)).then(function (digest) {
            var prefix = digest.slice(0, PREFIX);
            var entry = files[prefix];
            if (!entry) throw new Error("the manifest has no range " + prefix);
            var path = entry.where === "-" ? "ranges/empty" : "ranges/" + entry.where + "/" + prefix;
            return get(path).then(function (body) {
              return sha256(body).then(function (bodyDigest) {
                if (bodyDigest !== entry.digest) throw new Error("range " + prefix + " does not match the manifest");
                return { key: key, prefix: prefix, hit: text.decode(body).split("\n").indexOf(digest.slice(PREFIX)) >= 0 };
              });
            });
          });
        })).then(function (results) {
          var hit = results.filter(function (r) { return r.hit; })[0];
          var prefixes = results.map(function (r) { return r.prefix; }).join(", ");
          var where = " (registry checkpoint " + size + "; the portal saw only the hash prefixes " + prefixes + ")";
          if (hit) {
            var through = hit.key === subject ? "" : " through " + hit.key;
            say(subject + " is excluded" + through + where + ".", true);
          } else {
            say(subject + " is not excluded" + where + ".", false);
          }
        });
      });
    });
  }

  box.querySelector("button").addEventListener("click", function () {
    var subject = canonical(input.value);
    if (!subject) {
      say("Type a repository (owner/name, a URL) or an owner (github.com/owner) first.", false);
      return;
    }
    say("Checking in your browser…", false);
    check(subject).catch(function (error) {
      say("The private check failed (" + error.message + "). Use Look up for the ordinary check.", false);
    });
  });
})();

// Private lookup on the home page (docs/mirroring.md, "Private lookups").
// The browser hashes the repository with Web Crypto and fetches the range files of the
// hashes' first 3 hex characters from /mirror/ranges/: the portal never receives the name.
// Before it believes a range file it checks, as `registry.client check --private` does:
// the manifest's Ed25519 signature with the log's key the page carries; that the manifest
// is the page's signed checkpoint or extends it (a consistency proof from the log API);
// and each range file's SHA-256 against the manifest. Any failure refuses the answer.
// Without JavaScript (or Web Crypto) the form's ordinary "Look up" is the only check.
"use strict";
(function () {
  var box = document.getElementById("private-lookup");
  var input = document.getElementById("lookup-q");
  if (!box || !input || !window.crypto || !window.crypto.subtle || !window.fetch) return;
  var base = box.getAttribute("data-mirror");
  var answer = document.getElementById("private-answer");
  var PREFIX = 3;
  var PREFIXES = 1 << (4 * PREFIX);
  var CASELESS = ["github.com", "gitlab.com", "codeberg.org", "bitbucket.org"];
  var trusted = {
    key: box.getAttribute("data-log-key"),
    size: Number(box.getAttribute("data-checkpoint-size")),
    root: box.getAttribute("data-checkpoint-root"),
    format: box.getAttribute("data-range-format"),
    proof: box.getAttribute("data-proof"),
  };
  var utf8 = new TextEncoder();
  box.hidden = false;

  function Refused(message) {
    this.message = message;
  }

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

  function base64(text) {
    if (!/^[A-Za-z0-9+\/]*={0,2}$/.test(text) || text.length % 4) throw new Refused("not base64: " + text.slice(0, 20));
    var raw = atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function same(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function sha256(bytes) {
    return crypto.subtle.digest("SHA-256", bytes).then(function (d) { return new Uint8Array(d); });
  }

  function get(url) {
    return fetch(url, { credentials: "omit" }).then(function (response) {
      if (!response.ok) throw new Error(url + " answered " + response.status);
      return response.arrayBuffer();
    });
  }

  // The log's verifier key, name+keyid+base64(0x01 ‖ Ed25519 public key) (C2SP signed note).
  var logKey = (function () {
    // The name has no "+", the key id is 8 hex digits; base64 may hold "+" itself.
    var match = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(trusted.key || "");
    var parts = match ? match.slice(1) : ["", "", ""];
    try {
      var raw = match ? base64(parts[2]) : new Uint8Array(0);
    } catch (error) {
      return null;
    }
    if (raw.length !== 33 || raw[0] !== 1) return null;
    var verifier = crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, ["verify"]);
    verifier.catch(function () {}); // reported when a check needs it
    return { name: parts[0], id: parts[1], verifier: verifier };
  })();

  // The text of a signed note carrying one valid signature by the log's key.
  function verifyNote(note) {
    var cut = note.lastIndexOf("\n\n");
    if (cut < 0) throw new Refused("the range manifest is not a signed note");
    var text = note.slice(0, cut + 1);
    var lines = note.slice(cut + 2).split("\n");
    if (lines.length !== 2 || lines[1] !== "") throw new Refused("the range manifest must carry one signature");
    var prefix = "\u2014 " + logKey.name + " ";
    if (lines[0].indexOf(prefix) !== 0) throw new Refused("the range manifest is not signed by " + logKey.name);
    var stamp = base64(lines[0].slice(prefix.length));
    if (stamp.length !== 68 || hex(stamp.slice(0, 4)) !== logKey.id) throw new Refused("the range manifest is signed by another key");
    return logKey.verifier.then(function (verifier) {
      return crypto.subtle.verify({ name: "Ed25519" }, verifier, stamp.slice(4), utf8.encode(text));
    }, function () {
      throw new Refused("this browser cannot verify Ed25519 signatures");
    }).then(function (valid) {
      if (!valid) throw new Refused("the range manifest's signature does not verify with the log's key");
      return text;
    });
  }

  function parseManifest(text, latest) {
    var lines = text.split("\n");
    if (lines.length !== 4 + PREFIXES + 1 || lines[0] !== logKey.name + "/ranges") throw new Refused("the range manifest is malformed");
    if (lines[3] !== trusted.format) throw new Refused("unknown range format " + lines[3]);
    var size = Number(lines[1]);
    if (!/^[0-9]+$/.test(lines[1]) || String(size) !== latest) throw new Refused("the range manifest is for size " + lines[1] + ", not " + latest);
    var files = {};
    lines.slice(4, -1).forEach(function (line) {
      var f = line.split(" ");
      if (f.length !== 3 || !/^[0-9a-f]{64}$/.test(f[2])) throw new Refused("the range manifest is malformed");
      files[f[0]] = { where: f[1], digest: f[2] };
    });
    return { size: size, root: base64(lines[2]), files: files };
  }

  function node(left, right) {
    var joined = new Uint8Array(1 + left.length + right.length);
    joined[0] = 1;
    joined.set(left, 1);
    joined.set(right, 1 + left.length);
    return sha256(joined);
  }

  // RFC 9162 section 2.1.4.2: does the tree (second, secondRoot) extend (first, firstRoot)?
  function consistent(first, second, firstRoot, secondRoot, proof) {
    var path = proof.slice();
    var power = first;
    while (power % 2 === 0) power /= 2;
    if (power === 1) path.unshift(firstRoot); // the old root is itself a node of the new tree
    if (!path.length) return Promise.resolve(false);
    var fn = first - 1, sn = second - 1;
    while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    var state = Promise.resolve({ fr: path[0], sr: path[0], ok: true });
    path.slice(1).forEach(function (element) {
      state = state.then(function (s) {
        if (!s.ok || sn === 0) return { ok: false };
        var step;
        if (fn % 2 === 1 || fn === sn) {
          step = Promise.all([node(element, s.fr), node(element, s.sr)]).then(function (h) {
            while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
            return { fr: h[0], sr: h[1], ok: true };
          });
        } else {
          step = node(s.sr, element).then(function (h) { return { fr: s.fr, sr: h, ok: true }; });
        }
        return step.then(function (next) {
          fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
          return next;
        });
      });
    });
    return state.then(function (s) {
      return s.ok && sn === 0 && same(s.fr, firstRoot) && same(s.sr, secondRoot);
    });
  }

  // The manifest's checkpoint must be the one this page was given, or extend it.
  function bind(manifest) {
    if (trusted.size === 0) return Promise.resolve(manifest); // the page knew no checkpoint yet
    var root = base64(trusted.root);
    if (manifest.size < trusted.size) {
      throw new Refused("the range files are of checkpoint " + manifest.size + ", older than the signed checkpoint " + trusted.size + " this page trusts");
    }
    if (manifest.size === trusted.size) {
      if (!same(manifest.root, root)) throw new Refused("the range files name another root for checkpoint " + trusted.size + ": the log forked");
      return Promise.resolve(manifest);
    }
    var url = trusted.proof + "?first=" + trusted.size + "&second=" + manifest.size;
    return get(url).then(function (body) {
      var hashes = JSON.parse(new TextDecoder().decode(body)).hashes.map(base64);
      return consistent(trusted.size, manifest.size, root, manifest.root, hashes);
    }).then(function (ok) {
      if (!ok) throw new Refused("the range files' checkpoint " + manifest.size + " does not extend the signed checkpoint " + trusted.size);
      return manifest;
    });
  }

  function say(text, excluded) {
    answer.textContent = text;
    answer.className = excluded ? "status ok" : "status";
  }

  function check(subject) {
    var text = new TextDecoder();
    if (!logKey) return Promise.reject(new Refused("the page carries no valid log key"));
    return get(base + "ranges/latest").then(function (latest) {
      var size = text.decode(latest).trim();
      if (!/^[0-9]+$/.test(size)) throw new Refused("ranges/latest holds no log size");
      return get(base + "ranges/" + size + "/manifest").then(function (note) {
        return verifyNote(text.decode(note));
      }).then(function (verified) {
        return bind(parseManifest(verified, size));
      });
    }).then(function (manifest) {
      return Promise.all(keys(subject).map(function (key) {
        return sha256(utf8.encode(key)).then(function (digestBytes) {
          var digest = hex(digestBytes);
          var prefix = digest.slice(0, PREFIX);
          var entry = manifest.files[prefix];
          if (!entry) throw new Refused("the manifest has no range " + prefix);
          var path = entry.where === "-" ? "ranges/empty" : "ranges/" + entry.where + "/" + prefix;
          return get(base + path).then(function (body) {
            return sha256(body).then(function (bodyDigest) {
              if (hex(bodyDigest) !== entry.digest) throw new Refused("range file " + prefix + " does not match the signed manifest");
              return { key: key, prefix: prefix, hit: text.decode(body).split("\n").indexOf(digest.slice(PREFIX)) >= 0 };
            });
          });
        });
      })).then(function (results) {
        var hit = results.filter(function (r) { return r.hit; })[0];
        var prefixes = results.map(function (r) { return r.prefix; }).join(", ");
        var where = " (registry checkpoint " + manifest.size + ", signature verified; the portal saw only the hash prefixes " + prefixes + ")";
        if (hit) {
          var through = hit.key === subject ? "" : " through " + hit.key;
          say(subject + " is excluded" + through + where + ".", true);
        } else {
          say(subject + " is not excluded" + where + ".", false);
        }
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
      if (error instanceof Refused) {
        say("Refused: " + error.message + ". No answer was given; use Look up for the ordinary check.", false);
      } else {
        say("The private check failed (" + error.message + "). Use Look up for the ordinary check.", false);
      }
    });
  });
})();

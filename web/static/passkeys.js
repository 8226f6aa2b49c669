// Passkeys: register on the account page, sign in on the sign-in page. No inline script (CSP), no
// build step. Without WebAuthn the page shows its "cannot use passkeys" notice instead; sign-in cards
// keep working either way.
(function () {
  "use strict";

  function supported() {
    return Boolean(window.isSecureContext && window.PublicKeyCredential && navigator.credentials &&
      typeof navigator.credentials.create === "function");
  }

  function reveal() {
    var ok = supported();
    document.querySelectorAll("[data-needs-passkeys]").forEach(function (el) { el.hidden = !ok; });
    document.querySelectorAll("[data-no-passkeys]").forEach(function (el) { el.hidden = ok; });
    return ok;
  }

  function toBytes(b64url) {
    var b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out.buffer;
  }

  function toB64url(buffer) {
    if (!buffer) { return null; }
    var bytes = new Uint8Array(buffer);
    var s = "";
    for (var i = 0; i < bytes.length; i++) { s += String.fromCharCode(bytes[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
    } catch (e) {
      return "";
    }
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrftoken": csrfToken(), "accept": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.detail || String(response.status)); }
        return data;
      });
    });
  }

  function showError(form, message) {
    var box = form.querySelector("[data-passkey-error]");
    if (box) { box.textContent = message; box.hidden = false; }
  }

  function cancelledMessage(form, error) {
    if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
      return form.getAttribute("data-msg-cancelled") || error.message;
    }
    // The phone already holds one of this person's passkeys (the server lists them to exclude).
    if (error && error.name === "InvalidStateError") {
      return form.getAttribute("data-msg-exists") || error.message;
    }
    return error && error.message ? error.message : String(error);
  }

  function register(form) {
    var name = (form.querySelector("input[name=name]") || {}).value || "";
    post("/account/passkeys/options").then(function (start) {
      var options = start.options;
      options.challenge = toBytes(options.challenge);
      options.user.id = toBytes(options.user.id);
      (options.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
      return navigator.credentials.create({ publicKey: options }).then(function (cred) {
        return post("/account/passkeys", {
          ceremony: start.ceremony,
          name: name,
          credential: {
            id: cred.id,
            rawId: toB64url(cred.rawId),
            type: cred.type,
            response: {
              clientDataJSON: toB64url(cred.response.clientDataJSON),
              attestationObject: toB64url(cred.response.attestationObject),
              transports: cred.response.getTransports ? cred.response.getTransports() : []
            },
            authenticatorAttachment: cred.authenticatorAttachment || null,
            clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
          }
        });
      });
    }).then(function (done) {
      window.location.assign(done.redirect || "/account");
    }).catch(function (error) { showError(form, cancelledMessage(form, error)); });
  }

  // Sign-in, or confirming it's her on the step-up page (data-options-url, data-finish-url, data-next).
  function signIn(form) {
    var optionsUrl = form.getAttribute("data-options-url") || "/signin/passkey/options";
    var finishUrl = form.getAttribute("data-finish-url") || "/signin/passkey";
    post(optionsUrl).then(function (start) {
      var options = start.options;
      options.challenge = toBytes(options.challenge);
      (options.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
      return navigator.credentials.get({ publicKey: options }).then(function (cred) {
        return post(finishUrl, {
          ceremony: start.ceremony,
          next: form.getAttribute("data-next") || "",
          credential: {
            id: cred.id,
            rawId: toB64url(cred.rawId),
            type: cred.type,
            response: {
              clientDataJSON: toB64url(cred.response.clientDataJSON),
              authenticatorData: toB64url(cred.response.authenticatorData),
              signature: toB64url(cred.response.signature),
              userHandle: toB64url(cred.response.userHandle)
            },
            authenticatorAttachment: cred.authenticatorAttachment || null,
            clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
          }
        });
      });
    }).then(function (done) {
      window.location.assign(done.redirect || "/");
    }).catch(function (error) { showError(form, cancelledMessage(form, error)); });
  }

  function wire() {
    if (!reveal()) { return; }
    document.querySelectorAll("form[data-passkey-register]").forEach(function (form) {
      form.addEventListener("submit", function (event) { event.preventDefault(); register(form); });
    });
    document.querySelectorAll("form[data-passkey-signin]").forEach(function (form) {
      form.addEventListener("submit", function (event) { event.preventDefault(); signIn(form); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();

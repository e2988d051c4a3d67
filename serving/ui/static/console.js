// SkillPath console: the assistant chat panel (the only script; pages render without it).
(function () {
  "use strict";
  var form = document.getElementById("chat-form");
  if (!form) { return; }
  var log = document.getElementById("chat-log");
  var input = document.getElementById("chat-input");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var conversation = null;
  function say(who, text) {
    var p = document.createElement("p");
    if (who) { var b = document.createElement("span"); b.className = "me"; b.textContent = who + ": "; p.appendChild(b); }
    p.appendChild(document.createTextNode(text));
    log.appendChild(p);
    log.scrollTop = log.scrollHeight;
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var message = input.value.trim();
    if (!message) { return; }
    say("You", message);
    input.value = "";
    var body = { message: message };
    if (conversation) { body.conversation_id = conversation; }
    fetch(form.getAttribute("action"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
      .then(function (res) {
        if (!res[0]) { say("Error", res[1].error || "the assistant did not answer"); return; }
        conversation = res[1].conversation_id || conversation;
        say("Mentor", res[1].text || "");
      })
      .catch(function () { say("Error", "the service did not answer"); });
  });
}());

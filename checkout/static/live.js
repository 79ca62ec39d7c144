// Follows the intent live (CONTRACT §15): once it is paid in another tab, expires or is
// canceled, the page goes to where §7 sends it. Progressive enhancement only: without this
// file the page works as before. It speaks graphql-transport-ws to /graphql, with the
// client secret as its only credential.
(function () {
  "use strict";
  var secretField = document.querySelector("input[name=client_secret]");
  var match = window.location.pathname.match(/^\/checkout\/([A-Za-z0-9_]+)$/);
  if (!secretField || !match || !window.WebSocket) { return; }
  var intentId = match[1], secret = secretField.value, retries = 0, submitted = false;
  // Paid (or canceled) from this very page: its own form's answer decides where it goes,
  // and a second navigation must not race it.
  document.addEventListener("submit", function () { submitted = true; }, true);
  var QUERY = "subscription($id: ID!, $secret: String!) { checkoutSessionUpdated(id: $id, " +
    "clientSecret: $secret) { status } }";

  function leave() {  // the server decides where: success URL, cancel URL, or a page
    if (submitted) { return; }
    window.location.replace("/checkout/" + intentId + "?client_secret=" +
                            encodeURIComponent(secret));
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/graphql",
                               "graphql-transport-ws");
    socket.onopen = function () {
      socket.send(JSON.stringify({type: "connection_init", payload: {}}));
    };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.type === "connection_ack") {
        retries = 0;
        socket.send(JSON.stringify({id: "checkout", type: "subscribe", payload: {
          query: QUERY, variables: {id: intentId, secret: secret}}}));
      } else if (data.type === "ping") {
        socket.send(JSON.stringify({type: "pong"}));
      } else if (data.type === "next" && data.payload.data) {
        var status = data.payload.data.checkoutSessionUpdated.status;
        if (status !== "AWAITING_PAYMENT_METHOD") { leave(); }
      }
    };
    socket.onclose = function () {  // the gateway restarted, the network blinked: again
      if (submitted) { return; }
      retries += 1;
      if (retries < 10) { window.setTimeout(connect, Math.min(30000, 1000 * retries)); }
    };
  }
  connect();
}());

// GraphiQL on this gateway's /graphql, from its own assets (schema/graphiql.py). A file rather
// than an inline script, so the page's Content-Security-Policy needs no 'unsafe-inline'.
(function () {
  "use strict";
  // Subscriptions go over WebSocket to the same /graphql (graphql-transport-ws, CONTRACT §15);
  // the headers editor's headers (X-API-Key, Authorization) are the connection_init payload.
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var fetcher = GraphiQL.createFetcher({
    url: window.location.pathname,
    subscriptionUrl: scheme + window.location.host + window.location.pathname,
  });
  ReactDOM.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    }),
    document.getElementById("graphiql")
  );
})();

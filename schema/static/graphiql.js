// GraphiQL on this gateway's /graphql, from its own assets (schema/graphiql.py). A file rather
// than an inline script, so the page's Content-Security-Policy needs no 'unsafe-inline'.
(function () {
  "use strict";
  var fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
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

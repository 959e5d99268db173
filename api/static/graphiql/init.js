// hisgraph: starts the vendored GraphiQL on the page that served it (api/graphiql.py).
// Kept out of the page so that the page's Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";
  // The query travels as ?q= (not ?query=, which /graphql would take for an operation sent by GET).
  var parameters = new URLSearchParams(window.location.search);
  var fetchURL = window.location.origin + window.location.pathname;
  var fetcher = GraphiQL.createFetcher({ url: fetchURL });

  function update(name, value) {
    if (value) {
      parameters.set(name, value);
    } else {
      parameters.delete(name);
    }
    history.replaceState(null, "", "?" + parameters.toString());
  }

  function Page() {
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      query: parameters.get("q") || undefined,
      variables: parameters.get("variables") || undefined,
      onEditQuery: function (text) { update("q", text); },
      onEditVariables: function (text) { update("variables", text); },
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(Page));
})();

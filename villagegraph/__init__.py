"""villagegraph: the GraphQL backbone of a smart village/community platform (智慧村社通)."""

"""SAP Emarsys destination: contact lists, contacts data and Relational Data Service tables."""

"""A run as a document other tools read: JUnit XML and a Markdown CI summary, built on
``queries``."""

Feature: Search
  Rule: results match the query

    Scenario: Finding a book by title
      Given a catalogue with "Dune" and "Emma"
      When I search for "dune"
      Then I see "Dune"

    Scenario: Nothing matches
      Given a catalogue with "Dune" and "Emma"
      When I search for "zebra"
      Then I see nothing

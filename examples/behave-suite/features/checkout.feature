@shop
Feature: Checkout
  A shopper pays for what is in the cart.

  Background:
    Given an empty cart

  Scenario: Adding an item
    When I add 1 "book" at 12 euros
    Then the total is 12 euros
    And a screenshot of the cart is attached

  Scenario: Paying with an expired card
    When I add 1 "lamp" at 30 euros
    And I pay with a card that expired in 2020
    Then the order is confirmed

  @skip
  Scenario: Paying with a voucher
    When I pay with the voucher "WELCOME"
    Then the order is confirmed

  Scenario Outline: Totals for <count> items
    When I add <count> "pen" at 2 euros
    Then the total is <total> euros

    Examples: pens
      | count | total |
      | 1     | 2     |
      | 3     | 6     |

  Scenario: Applying a discount code
    When I add 1 "book" at 12 euros
    And I apply the discount code "HALF"
    Then the total is 6 euros

  @autoretry
  Scenario: A flaky payment gateway
    When I add 1 "mug" at 8 euros
    And I pay through the flaky gateway
    Then the order is confirmed

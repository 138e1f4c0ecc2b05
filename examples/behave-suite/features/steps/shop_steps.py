"""Steps of the example suite: a toy shop and catalogue, no network."""

from behave import given, then, when

GATEWAY_CALLS = {"count": 0}
# A 1x1 PNG, as a browser runner's screenshot would be.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@given("an empty cart")
def empty_cart(context):
    context.cart = []
    context.order = None


@when('I add {count:d} "{item}" at {price:d} euros')
def add_item(context, count, item, price):
    context.cart.extend([price] * count)
    print(f"added {count} x {item}")


@then("the total is {total:d} euros")
def total_is(context, total):
    assert sum(context.cart) == total, f"total is {sum(context.cart)}, expected {total}"


@then("a screenshot of the cart is attached")
def attach_screenshot(context):
    context.attach("image/png", PNG)


@when("I pay with a card that expired in {year:d}")
def pay_expired(context, year):
    raise ValueError(f"card expired in {year}: payment declined")


@when("I pay through the flaky gateway")
def pay_flaky(context):
    GATEWAY_CALLS["count"] += 1
    assert GATEWAY_CALLS["count"] > 1, "gateway timed out"
    context.order = "confirmed"


@when('I pay with the voucher "{code}"')
def pay_voucher(context, code):
    context.order = "confirmed"


@then("the order is confirmed")
def order_confirmed(context):
    assert context.order == "confirmed"


@given('a catalogue with "{first}" and "{second}"')
def catalogue(context, first, second):
    context.catalogue = [first, second]


@when('I search for "{query}"')
def search(context, query):
    context.found = [title for title in context.catalogue if query.lower() in title.lower()]


@then('I see "{title}"')
def see_title(context, title):
    assert context.found == [title]


@then("I see nothing")
def see_nothing(context):
    assert context.found == []

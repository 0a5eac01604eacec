/**
 * Books an instant slot the way a client app does, with the client generated from the
 * platform's OpenAPI: hold seats, book from the hold, pay at Stripe, wait for the booking to be
 * confirmed, then ask for the same party again and meet 409 SOLD_OUT as a typed error.
 *
 * Environment: GATEWAY_URL, ACCESS_TOKEN (a traveler's), SLOT_ID, ADULTS (the party),
 * STRIPE_API_BASE and STRIPE_API_KEY (where the card is confirmed, as Stripe.js would).
 * Prints one JSON line, {"booking": ..., "sold_out": ...}, and exits 0 when every step went
 * as expected; anything else is printed to stderr with exit code 1.
 */
import createClient from "openapi-fetch";

import type { components, operations, paths } from "../generated/schema.js";

type Booking = components["schemas"]["BookingOut"];
type ConflictCode = NonNullable<
  operations["createBooking"]["responses"][409]["content"]["application/problem+json"]["error_code"]
>;
/** Only a code the spec lists: never when the spec types error_code as any string. */
type Listed<Code extends string> = string extends Code ? never : Code;

// Fails to compile unless the spec says createBooking can answer 409 SOLD_OUT.
const SOLD_OUT: Listed<ConflictCode> = "SOLD_OUT";
const CONFIRMED_WITHIN_MS = 30_000;

class UnexpectedAnswer extends Error {}

function setting(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new UnexpectedAnswer(`${name} is not set`);
  }
  return value;
}

const gatewayUrl = setting("GATEWAY_URL");
const slotId = setting("SLOT_ID");
const adults = Number(setting("ADULTS"));
const stripeApiBase = setting("STRIPE_API_BASE");
const stripeApiKey = setting("STRIPE_API_KEY");
const contact = { name: "Ana Traveler", email: "ana@example.com" };

const client = createClient<paths>({
  baseUrl: gatewayUrl,
  headers: { Authorization: `Bearer ${setting("ACCESS_TOKEN")}` },
});

async function bookFromHold(): Promise<Booking> {
  const hold = await client.POST("/api/v1/holds", { body: { slot_id: slotId, adults } });
  if (hold.error) {
    throw new UnexpectedAnswer(`placeHold: ${hold.response.status} ${JSON.stringify(hold.error)}`);
  }
  const booking = await client.POST("/api/v1/bookings", {
    params: { header: { "Idempotency-Key": `book-${hold.data.id}` } },
    body: { hold_id: hold.data.id, contact, payment_option: "full" },
  });
  if (booking.error) {
    throw new UnexpectedAnswer(`createBooking: ${booking.response.status} ${JSON.stringify(booking.error)}`);
  }
  return booking.data;
}

/** What Stripe.js does in a browser: put the card on the PaymentIntent, then confirm it. */
async function pay(booking: Booking): Promise<void> {
  const paymentIntentId = booking.payment.payment_intent_id;
  if (!paymentIntentId || !booking.payment.client_secret) {
    throw new UnexpectedAnswer(`booking ${booking.id} has no PaymentIntent to pay`);
  }
  const stripe = async (path: string, form: Record<string, string>): Promise<Record<string, unknown>> => {
    const answer = await fetch(`${stripeApiBase}/v1/payment_intents/${paymentIntentId}${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${stripeApiKey}` },
      body: new URLSearchParams(form),
    });
    if (!answer.ok) {
      throw new UnexpectedAnswer(`Stripe ${path || "update"}: ${answer.status} ${await answer.text()}`);
    }
    return (await answer.json()) as Record<string, unknown>;
  };
  await stripe("", { payment_method: "pm_card_visa" });
  const confirmed = await stripe("/confirm", {});
  if (confirmed["status"] !== "succeeded") {
    throw new UnexpectedAnswer(`PaymentIntent ${paymentIntentId} is ${String(confirmed["status"])}`);
  }
}

/** The platform confirms the booking once Stripe's webhook reaches it. */
async function confirmed(bookingId: string): Promise<Booking> {
  const deadline = Date.now() + CONFIRMED_WITHIN_MS;
  for (;;) {
    const read = await client.GET("/api/v1/bookings/{booking_id}", { params: { path: { booking_id: bookingId } } });
    if (read.error) {
      throw new UnexpectedAnswer(`readBooking: ${read.response.status} ${JSON.stringify(read.error)}`);
    }
    if (read.data.status === "confirmed") {
      return read.data;
    }
    if (Date.now() > deadline) {
      throw new UnexpectedAnswer(`booking ${bookingId} is ${read.data.status}, not confirmed`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function main(): Promise<void> {
  const created = await bookFromHold();
  await pay(created);
  const booking = await confirmed(created.id);

  const again = await client.POST("/api/v1/bookings", { body: { slot_id: slotId, adults, contact } });
  if (!again.error) {
    throw new UnexpectedAnswer(`a second party of ${adults} was booked: ${again.data.id}`);
  }
  const problem = again.error;
  if (again.response.status !== 409 || problem.error_code !== SOLD_OUT) {
    throw new UnexpectedAnswer(`createBooking: ${again.response.status} ${JSON.stringify(problem)}`);
  }
  const soldOut = {
    status: problem.status,
    error_code: problem.error_code,
    message: problem.message,
    details: problem.details,
  };
  console.log(JSON.stringify({ booking, sold_out: soldOut }));
}

main().catch((failure: unknown) => {
  console.error(failure instanceof Error ? failure.message : failure);
  process.exit(1);
});

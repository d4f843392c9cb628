CREATE TABLE "overpayments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"batch_id" uuid NOT NULL,
	"line_no" integer NOT NULL,
	"instruction_ids" text[] NOT NULL,
	"paid_pkr" bigint NOT NULL,
	"over_pkr" bigint NOT NULL,
	"found_at" timestamp with time zone NOT NULL,
	"found_in" uuid NOT NULL
);
--> statement-breakpoint
CREATE TABLE "payment_files" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"batch_id" uuid NOT NULL,
	"channel" text NOT NULL,
	"kind" text NOT NULL,
	"payers" jsonb NOT NULL,
	"jurisdiction" text NOT NULL,
	"seq" integer NOT NULL,
	"sha256" text NOT NULL,
	"count" integer NOT NULL,
	"total_pkr" bigint NOT NULL,
	"made_by" text NOT NULL,
	"made_at" timestamp with time zone NOT NULL,
	CONSTRAINT "payment_files_kind_check" CHECK ("payment_files"."kind" in ('payment', 'cancellation'))
);
--> statement-breakpoint
CREATE TABLE "payment_instructions" (
	"id" text PRIMARY KEY NOT NULL,
	"batch_id" uuid NOT NULL,
	"line_no" integer NOT NULL,
	"attempt" smallint NOT NULL,
	"channel" text NOT NULL,
	"account" text,
	"amount_pkr" integer NOT NULL,
	"state" text NOT NULL,
	"file_id" uuid,
	"cancel_file_id" uuid,
	"paid_pkr" integer,
	"paid_at" timestamp with time zone,
	"bank_reference" text,
	"reason" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "payment_instructions_state_check" CHECK ("payment_instructions"."state" in ('released', 'exported', 'paid', 'failed', 'unclaimed', 'cancel_requested', 'cancelled')),
	CONSTRAINT "payment_instructions_paid_check" CHECK ("payment_instructions"."paid_pkr" is null or ("payment_instructions"."paid_pkr" >= 0 and "payment_instructions"."paid_pkr" <= "payment_instructions"."amount_pkr"))
);
--> statement-breakpoint
CREATE TABLE "reconciliations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"file_id" uuid NOT NULL,
	"sha256" text NOT NULL,
	"rows" integer NOT NULL,
	"report" jsonb NOT NULL,
	"applied_by" text NOT NULL,
	"applied_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reissues" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"batch_id" uuid NOT NULL,
	"line_no" integer NOT NULL,
	"instruction_id" text NOT NULL,
	"from_channel" text NOT NULL,
	"from_account" text,
	"channel" text NOT NULL,
	"account" text,
	"reason" text NOT NULL,
	"requested_by" text NOT NULL,
	"requested_at" timestamp with time zone NOT NULL,
	"decision" text,
	"decided_by" text,
	"decided_at" timestamp with time zone,
	"comment" text,
	"new_instruction_id" text,
	CONSTRAINT "reissues_maker_checker" CHECK ("reissues"."decided_by" is null or "reissues"."decided_by" <> "reissues"."requested_by"),
	CONSTRAINT "reissues_decision_check" CHECK ("reissues"."decision" is null or "reissues"."decision" in ('approved', 'rejected'))
);
--> statement-breakpoint
ALTER TABLE "overpayments" ADD CONSTRAINT "overpayments_batch_id_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_files" ADD CONSTRAINT "payment_files_batch_id_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_instructions" ADD CONSTRAINT "payment_instructions_batch_id_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reconciliations" ADD CONSTRAINT "reconciliations_file_id_payment_files_id_fk" FOREIGN KEY ("file_id") REFERENCES "public"."payment_files"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reissues" ADD CONSTRAINT "reissues_batch_id_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reissues" ADD CONSTRAINT "reissues_instruction_id_payment_instructions_id_fk" FOREIGN KEY ("instruction_id") REFERENCES "public"."payment_instructions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "overpayments_line_idx" ON "overpayments" USING btree ("batch_id","line_no");--> statement-breakpoint
CREATE UNIQUE INDEX "payment_files_seq_idx" ON "payment_files" USING btree ("batch_id","kind","channel","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "payment_instructions_attempt_idx" ON "payment_instructions" USING btree ("batch_id","line_no","attempt");--> statement-breakpoint
CREATE UNIQUE INDEX "payment_instructions_one_in_flight_idx" ON "payment_instructions" USING btree ("batch_id","line_no") WHERE state in ('released', 'exported', 'cancel_requested');--> statement-breakpoint
CREATE INDEX "payment_instructions_file_idx" ON "payment_instructions" USING btree ("file_id");--> statement-breakpoint
CREATE INDEX "payment_instructions_cancel_file_idx" ON "payment_instructions" USING btree ("cancel_file_id");--> statement-breakpoint
CREATE INDEX "payment_instructions_batch_state_idx" ON "payment_instructions" USING btree ("batch_id","state");--> statement-breakpoint
CREATE UNIQUE INDEX "reconciliations_file_hash_idx" ON "reconciliations" USING btree ("file_id","sha256");--> statement-breakpoint
CREATE UNIQUE INDEX "reissues_one_open_idx" ON "reissues" USING btree ("batch_id","line_no") WHERE decision is null;--> statement-breakpoint
-- An instruction's state moves one way (README: "Payments: states"); amount, channel, account, batch, line and
-- attempt never change. A bank that answers late may still say paid for a failed, unclaimed or
-- cancellation-requested instruction: that is what happened, and it is recorded.
CREATE FUNCTION payment_instructions_one_way() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.id, NEW.batch_id, NEW.line_no, NEW.attempt, NEW.channel, NEW.account, NEW.amount_pkr)
     IS DISTINCT FROM (OLD.id, OLD.batch_id, OLD.line_no, OLD.attempt, OLD.channel, OLD.account, OLD.amount_pkr) THEN
    RAISE EXCEPTION 'instruction % is frozen: only its state and the bank''s answer change', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.state = OLD.state THEN RETURN NEW; END IF;
  IF (OLD.state, NEW.state) IN (
    ('released', 'exported'), ('released', 'cancelled'),
    ('exported', 'paid'), ('exported', 'failed'), ('exported', 'unclaimed'), ('exported', 'cancel_requested'),
    ('cancel_requested', 'cancelled'), ('cancel_requested', 'paid'), ('cancel_requested', 'failed'), ('cancel_requested', 'unclaimed'),
    ('failed', 'paid'), ('unclaimed', 'paid')
  ) THEN RETURN NEW; END IF;
  RAISE EXCEPTION 'instruction % cannot go from % to %', OLD.id, OLD.state, NEW.state USING ERRCODE = 'check_violation';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER payment_instructions_one_way BEFORE UPDATE ON payment_instructions FOR EACH ROW EXECUTE FUNCTION payment_instructions_one_way();
--> statement-breakpoint
-- Files and reconciliations are history: never changed, never removed.
CREATE FUNCTION payments_history_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER payment_files_append_only BEFORE UPDATE OR DELETE ON payment_files FOR EACH ROW EXECUTE FUNCTION payments_history_refuse_change();
--> statement-breakpoint
CREATE TRIGGER reconciliations_append_only BEFORE UPDATE OR DELETE ON reconciliations FOR EACH ROW EXECUTE FUNCTION payments_history_refuse_change();

CREATE TABLE "batch_approvals" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"batch_id" uuid NOT NULL,
	"round" integer NOT NULL,
	"step" integer,
	"decision" text NOT NULL,
	"signed_by" text NOT NULL,
	"submitted_by" text NOT NULL,
	"role" text NOT NULL,
	"jurisdiction" text NOT NULL,
	"comment" text NOT NULL,
	"lines_sha256" text NOT NULL,
	"signed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "batch_approvals_maker_checker" CHECK ("batch_approvals"."signed_by" <> "batch_approvals"."submitted_by"),
	CONSTRAINT "batch_approvals_decision_check" CHECK ("batch_approvals"."decision" in ('approve', 'reject'))
);
--> statement-breakpoint
CREATE TABLE "batch_lines" (
	"batch_id" uuid NOT NULL,
	"line_no" integer NOT NULL,
	"source" text NOT NULL,
	"household_id" text NOT NULL,
	"dedup_key" text NOT NULL,
	"cnic" text NOT NULL,
	"head_name" text NOT NULL,
	"province" text NOT NULL,
	"district" text NOT NULL,
	"tehsil" text NOT NULL,
	"pmt" real NOT NULL,
	"requested_pkr" integer NOT NULL,
	"amount_pkr" integer NOT NULL,
	"payer_idx" smallint[] NOT NULL,
	"shares_pkr" integer[] NOT NULL,
	"payment_channel" text,
	"payment_account" text,
	"reasons_idx" integer NOT NULL,
	"net_text" text,
	"state" text NOT NULL,
	CONSTRAINT "batch_lines_batch_id_line_no_pk" PRIMARY KEY("batch_id","line_no"),
	CONSTRAINT "batch_lines_state_check" CHECK ("batch_lines"."state" in ('live', 'dropped', 'cancelled')),
	CONSTRAINT "batch_lines_amount_check" CHECK ("batch_lines"."amount_pkr" >= 0 and "batch_lines"."amount_pkr" <= "batch_lines"."requested_pkr")
);
--> statement-breakpoint
CREATE TABLE "batch_payers" (
	"batch_id" uuid NOT NULL,
	"idx" smallint NOT NULL,
	"agency" text NOT NULL,
	"jurisdiction" text NOT NULL,
	"budget_line_id" uuid,
	"released_by" text,
	"released_at" timestamp with time zone,
	"released_pkr" bigint,
	CONSTRAINT "batch_payers_batch_id_idx_pk" PRIMARY KEY("batch_id","idx")
);
--> statement-breakpoint
CREATE TABLE "batches" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"activation_id" uuid NOT NULL,
	"rule_id" text NOT NULL,
	"rule_version_id" uuid NOT NULL,
	"rule_version" text NOT NULL,
	"programme" text NOT NULL,
	"purpose" text NOT NULL,
	"incident" text NOT NULL,
	"subject_kind" text NOT NULL,
	"subject_id" uuid NOT NULL,
	"stage" text NOT NULL,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"jurisdiction" text NOT NULL,
	"area_codes" text[] NOT NULL,
	"payers" jsonb NOT NULL,
	"reasons" jsonb NOT NULL,
	"figures" jsonb NOT NULL,
	"registry_version" text NOT NULL,
	"lines_sha256" text NOT NULL,
	"line_count" integer NOT NULL,
	"total_pkr" bigint NOT NULL,
	"build" integer NOT NULL,
	"round" integer DEFAULT 0 NOT NULL,
	"built_by" text NOT NULL,
	"built_at" timestamp with time zone NOT NULL,
	"submitted_by" text,
	"submitted_at" timestamp with time zone,
	"steps" jsonb,
	"status_reason" text,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "batches_kind_check" CHECK ("batches"."kind" in ('payment', 'prepared')),
	CONSTRAINT "batches_status_check" CHECK ("batches"."status" in ('prepared', 'draft', 'submitted', 'approved', 'partly_released', 'released', 'cancelled')),
	CONSTRAINT "batches_total_check" CHECK ("batches"."total_pkr" >= 0)
);
--> statement-breakpoint
CREATE TABLE "budget_amendments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"budget_line_id" uuid NOT NULL,
	"ceiling_before_pkr" bigint NOT NULL,
	"ceiling_after_pkr" bigint NOT NULL,
	"reason" text NOT NULL,
	"reference" text NOT NULL,
	"made_by" text NOT NULL,
	"made_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "budget_lines" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"rule_id" text NOT NULL,
	"programme" text NOT NULL,
	"agency" text NOT NULL,
	"jurisdiction" text NOT NULL,
	"ceiling_pkr" bigint NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"opened_by" text NOT NULL,
	CONSTRAINT "budget_lines_ceiling_check" CHECK ("budget_lines"."ceiling_pkr" >= 0)
);
--> statement-breakpoint
CREATE TABLE "reservations" (
	"incident" text NOT NULL,
	"purpose" text NOT NULL,
	"dedup_key" text NOT NULL,
	"reserved_pkr" bigint NOT NULL,
	"held_by" jsonb NOT NULL,
	CONSTRAINT "reservations_incident_purpose_dedup_key_pk" PRIMARY KEY("incident","purpose","dedup_key"),
	CONSTRAINT "reservations_positive_check" CHECK ("reservations"."reserved_pkr" > 0)
);
--> statement-breakpoint
ALTER TABLE "batch_approvals" ADD CONSTRAINT "batch_approvals_batch_id_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "batch_lines" ADD CONSTRAINT "batch_lines_batch_id_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "batch_payers" ADD CONSTRAINT "batch_payers_batch_id_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "batch_payers" ADD CONSTRAINT "batch_payers_budget_line_id_budget_lines_id_fk" FOREIGN KEY ("budget_line_id") REFERENCES "public"."budget_lines"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "batches" ADD CONSTRAINT "batches_activation_id_activations_id_fk" FOREIGN KEY ("activation_id") REFERENCES "public"."activations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "batches" ADD CONSTRAINT "batches_rule_version_id_rule_versions_id_fk" FOREIGN KEY ("rule_version_id") REFERENCES "public"."rule_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "budget_amendments" ADD CONSTRAINT "budget_amendments_budget_line_id_budget_lines_id_fk" FOREIGN KEY ("budget_line_id") REFERENCES "public"."budget_lines"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "batch_approvals_one_signature_idx" ON "batch_approvals" USING btree ("batch_id","round","signed_by");--> statement-breakpoint
CREATE UNIQUE INDEX "batch_approvals_step_idx" ON "batch_approvals" USING btree ("batch_id","round","step");--> statement-breakpoint
CREATE INDEX "batch_payers_budget_idx" ON "batch_payers" USING btree ("budget_line_id");--> statement-breakpoint
CREATE UNIQUE INDEX "batches_one_live_per_activation_idx" ON "batches" USING btree ("activation_id") WHERE status <> 'cancelled';--> statement-breakpoint
CREATE INDEX "batches_incident_idx" ON "batches" USING btree ("incident","purpose");--> statement-breakpoint
CREATE INDEX "batches_area_codes_idx" ON "batches" USING gin ("area_codes");--> statement-breakpoint
CREATE INDEX "budget_amendments_line_idx" ON "budget_amendments" USING btree ("budget_line_id");--> statement-breakpoint
CREATE UNIQUE INDEX "budget_lines_payer_idx" ON "budget_lines" USING btree ("rule_id","agency","jurisdiction");--> statement-breakpoint
-- A batch's status moves one way (README: "Batches: states"). Any other move is refused by the database,
-- whatever code asks for it. Staying in the same status (a rebuilt draft, a new round) is allowed.
CREATE FUNCTION batches_one_way() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = OLD.status THEN RETURN NEW; END IF;
  IF (OLD.status, NEW.status) IN (
    ('prepared', 'cancelled'),
    ('draft', 'submitted'), ('draft', 'cancelled'),
    ('submitted', 'approved'), ('submitted', 'draft'), ('submitted', 'cancelled'),
    ('approved', 'partly_released'), ('approved', 'released'), ('approved', 'cancelled'),
    ('partly_released', 'released')
  ) THEN RETURN NEW; END IF;
  RAISE EXCEPTION 'batch % cannot go from % to %', OLD.id, OLD.status, NEW.status USING ERRCODE = 'check_violation';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER batches_status_one_way BEFORE UPDATE OF status ON batches FOR EACH ROW EXECUTE FUNCTION batches_one_way();
--> statement-breakpoint
-- A line is a frozen fact: only its state changes, and only live -> cancelled.
CREATE FUNCTION batch_lines_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (to_jsonb(NEW) - 'state') IS DISTINCT FROM (to_jsonb(OLD) - 'state') THEN
    RAISE EXCEPTION 'line % of batch % is frozen: only its state may change', OLD.line_no, OLD.batch_id USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.state <> OLD.state AND NOT (OLD.state = 'live' AND NEW.state = 'cancelled') THEN
    RAISE EXCEPTION 'line % of batch % cannot go from % to %', OLD.line_no, OLD.batch_id, OLD.state, NEW.state USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER batch_lines_frozen BEFORE UPDATE ON batch_lines FOR EACH ROW EXECUTE FUNCTION batch_lines_frozen();
--> statement-breakpoint
-- A payer's share is released once: its release is never changed or undone.
CREATE FUNCTION batch_payers_release_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.released_at IS NOT NULL THEN
    RAISE EXCEPTION 'the % share of batch % is already released', OLD.agency, OLD.batch_id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER batch_payers_release_once BEFORE UPDATE ON batch_payers FOR EACH ROW EXECUTE FUNCTION batch_payers_release_once();
--> statement-breakpoint
-- Amendments are history: never changed, never removed.
CREATE FUNCTION budget_amendments_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'budget_amendments is append-only: % is not allowed', TG_OP;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER budget_amendments_append_only BEFORE UPDATE OR DELETE ON budget_amendments FOR EACH ROW EXECUTE FUNCTION budget_amendments_refuse_change();

CREATE TABLE "plan_actions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"incident" text NOT NULL,
	"title" text NOT NULL,
	"sector" text NOT NULL,
	"lead_agency" text NOT NULL,
	"supporting_agencies" text[] NOT NULL,
	"area_codes" text[] NOT NULL,
	"jurisdiction" text NOT NULL,
	"locations" jsonb NOT NULL,
	"stage" text NOT NULL,
	"trigger_at" timestamp with time zone NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"target_households" integer,
	"target_people" integer,
	"reached_households" integer,
	"reached_people" integer,
	"budget" jsonb NOT NULL,
	"status" text NOT NULL,
	"status_reason" text,
	"origin" text NOT NULL,
	"rule_id" text,
	"rule_version" text,
	"rule_version_id" uuid,
	"activation_id" uuid,
	"rule_action_key" text,
	"accepted_by" text,
	"accepted_at" timestamp with time zone,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "plan_actions_status_check" CHECK ("plan_actions"."status" in ('planned', 'ready', 'in_progress', 'done', 'blocked', 'cancelled')),
	CONSTRAINT "plan_actions_stage_check" CHECK ("plan_actions"."stage" in ('readiness', 'activation', 'response')),
	CONSTRAINT "plan_actions_origin_check" CHECK ("plan_actions"."origin" in ('rule', 'officer')),
	CONSTRAINT "plan_actions_reason_check" CHECK ("plan_actions"."status" not in ('blocked', 'cancelled') or "plan_actions"."status_reason" is not null),
	CONSTRAINT "plan_actions_due_check" CHECK ("plan_actions"."due_at" >= "plan_actions"."trigger_at"),
	CONSTRAINT "plan_actions_counts_check" CHECK (coalesce("plan_actions"."target_households", 0) >= 0 and coalesce("plan_actions"."target_people", 0) >= 0 and coalesce("plan_actions"."reached_households", 0) >= 0 and coalesce("plan_actions"."reached_people", 0) >= 0)
);
--> statement-breakpoint
CREATE TABLE "plan_updates" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"action_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"from_status" text,
	"to_status" text NOT NULL,
	"note" text NOT NULL,
	"evidence" text,
	"changes" jsonb NOT NULL,
	"made_by" text NOT NULL,
	"agency" text NOT NULL,
	"made_at" timestamp with time zone NOT NULL,
	CONSTRAINT "plan_updates_kind_check" CHECK ("plan_updates"."kind" in ('created', 'status', 'progress', 'accepted', 'reassigned')),
	CONSTRAINT "plan_updates_transition_check" CHECK ("plan_updates"."from_status" is null or "plan_updates"."from_status" = "plan_updates"."to_status" or ("plan_updates"."from_status", "plan_updates"."to_status") in (
        ('planned', 'ready'), ('ready', 'in_progress'), ('in_progress', 'done'),
        ('planned', 'blocked'), ('ready', 'blocked'), ('in_progress', 'blocked'),
        ('blocked', 'planned'), ('blocked', 'ready'), ('blocked', 'in_progress'),
        ('planned', 'cancelled'), ('ready', 'cancelled'), ('in_progress', 'cancelled'), ('blocked', 'cancelled')))
);
--> statement-breakpoint
ALTER TABLE "plan_actions" ADD CONSTRAINT "plan_actions_rule_version_id_rule_versions_id_fk" FOREIGN KEY ("rule_version_id") REFERENCES "public"."rule_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "plan_actions" ADD CONSTRAINT "plan_actions_activation_id_activations_id_fk" FOREIGN KEY ("activation_id") REFERENCES "public"."activations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "plan_updates" ADD CONSTRAINT "plan_updates_action_id_plan_actions_id_fk" FOREIGN KEY ("action_id") REFERENCES "public"."plan_actions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "plan_actions_once_per_activation_idx" ON "plan_actions" USING btree ("activation_id","rule_action_key") WHERE activation_id is not null;--> statement-breakpoint
CREATE INDEX "plan_actions_incident_idx" ON "plan_actions" USING btree ("incident");--> statement-breakpoint
CREATE INDEX "plan_actions_area_codes_idx" ON "plan_actions" USING gin ("area_codes");--> statement-breakpoint
CREATE INDEX "plan_updates_action_idx" ON "plan_updates" USING btree ("action_id","made_at");--> statement-breakpoint
-- A plan action's status moves only along the machine: planned -> ready -> in_progress -> done; any open
-- status may be blocked or cancelled; a blocked action returns to a working status; done and cancelled are final.
CREATE FUNCTION plan_actions_status_machine() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = OLD.status THEN RETURN NEW; END IF;
  IF (OLD.status, NEW.status) IN (
    ('planned', 'ready'), ('ready', 'in_progress'), ('in_progress', 'done'),
    ('planned', 'blocked'), ('ready', 'blocked'), ('in_progress', 'blocked'),
    ('blocked', 'planned'), ('blocked', 'ready'), ('blocked', 'in_progress'),
    ('planned', 'cancelled'), ('ready', 'cancelled'), ('in_progress', 'cancelled'), ('blocked', 'cancelled')
  ) THEN RETURN NEW; END IF;
  RAISE EXCEPTION 'plan action % cannot go from % to %', OLD.id, OLD.status, NEW.status USING ERRCODE = 'check_violation';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER plan_actions_status_machine BEFORE UPDATE OF status ON plan_actions FOR EACH ROW EXECUTE FUNCTION plan_actions_status_machine();
--> statement-breakpoint
-- A plan action's history is never rewritten.
CREATE FUNCTION plan_updates_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'plan_updates is append-only: % is not allowed', TG_OP;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER plan_updates_append_only BEFORE UPDATE OR DELETE ON plan_updates FOR EACH ROW EXECUTE FUNCTION plan_updates_refuse_change();

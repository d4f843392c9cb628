CREATE TABLE "agreements" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"title" text NOT NULL,
	"party_a" text NOT NULL,
	"party_b" text NOT NULL,
	"purpose" text NOT NULL,
	"jurisdiction" text NOT NULL,
	"linkage" text NOT NULL,
	"shares" jsonb NOT NULL,
	"valid_from" timestamp with time zone NOT NULL,
	"valid_to" timestamp with time zone NOT NULL,
	"link_key" "bytea" NOT NULL,
	"made_by" text NOT NULL,
	"made_at" timestamp with time zone NOT NULL,
	"signed_a_by" text,
	"signed_a_at" timestamp with time zone,
	"signed_b_by" text,
	"signed_b_at" timestamp with time zone,
	"revoked_by" text,
	"revoked_at" timestamp with time zone,
	"revoke_reason" text,
	CONSTRAINT "agreements_parties_check" CHECK ("agreements"."party_a" <> "agreements"."party_b"),
	CONSTRAINT "agreements_purpose_check" CHECK ("agreements"."purpose" in ('dedup', 'disaster_response', 'targeting')),
	CONSTRAINT "agreements_linkage_check" CHECK ("agreements"."linkage" in ('pseudonymous', 'identified')),
	CONSTRAINT "agreements_window_check" CHECK ("agreements"."valid_to" > "agreements"."valid_from"),
	CONSTRAINT "agreements_maker_checker" CHECK ("agreements"."signed_a_by" is distinct from "agreements"."made_by" and "agreements"."signed_b_by" is distinct from "agreements"."made_by" and ("agreements"."signed_a_by" is null or "agreements"."signed_a_by" is distinct from "agreements"."signed_b_by")),
	CONSTRAINT "agreements_key_check" CHECK (octet_length("agreements"."link_key") = 32)
);
--> statement-breakpoint
CREATE TABLE "change_set_rows" (
	"change_set_id" uuid NOT NULL,
	"row_no" integer NOT NULL,
	"household" bigint NOT NULL,
	"area" text NOT NULL,
	"changes" jsonb NOT NULL,
	"decision" text,
	"decided_by" text,
	"decided_at" timestamp with time zone,
	"reason" text,
	CONSTRAINT "change_set_rows_change_set_id_row_no_pk" PRIMARY KEY("change_set_id","row_no"),
	CONSTRAINT "change_set_rows_decision_check" CHECK ("change_set_rows"."decision" is null or "change_set_rows"."decision" in ('merged', 'refused'))
);
--> statement-breakpoint
CREATE TABLE "change_sets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"import_id" uuid NOT NULL,
	"agreement_id" uuid NOT NULL,
	"target" text NOT NULL,
	"sender" text NOT NULL,
	"jurisdiction" text NOT NULL,
	"made_by" text NOT NULL,
	"made_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "exchange_export_chunks" (
	"export_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"bytes" "bytea" NOT NULL,
	CONSTRAINT "exchange_export_chunks_export_id_seq_pk" PRIMARY KEY("export_id","seq")
);
--> statement-breakpoint
CREATE TABLE "exchange_exports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"agreement_id" uuid NOT NULL,
	"source" text NOT NULL,
	"recipient" text NOT NULL,
	"format" text NOT NULL,
	"fields" text[] NOT NULL,
	"jurisdiction" text NOT NULL,
	"rows" bigint NOT NULL,
	"bytes" bigint NOT NULL,
	"sha256" text NOT NULL,
	"made_by" text NOT NULL,
	"made_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"kept" text NOT NULL,
	"purged_at" timestamp with time zone,
	CONSTRAINT "exchange_exports_format_check" CHECK ("exchange_exports"."format" in ('csv', 'ndjson'))
);
--> statement-breakpoint
CREATE TABLE "exchange_imports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"agreement_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"sha256" text NOT NULL,
	"rows" integer NOT NULL,
	"matched" integer NOT NULL,
	"made_by" text NOT NULL,
	"made_at" timestamp with time zone NOT NULL,
	CONSTRAINT "exchange_imports_kind_check" CHECK ("exchange_imports"."kind" in ('payments', 'changes'))
);
--> statement-breakpoint
CREATE TABLE "external_payments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"import_id" uuid NOT NULL,
	"agreement_id" uuid NOT NULL,
	"row_no" integer NOT NULL,
	"linkage_key" text NOT NULL,
	"household" bigint,
	"dedup_key" text,
	"incident" text NOT NULL,
	"purpose" text NOT NULL,
	"programme" text NOT NULL,
	"amount_pkr" integer NOT NULL,
	"paid_at" timestamp with time zone NOT NULL,
	"reference" text NOT NULL,
	CONSTRAINT "external_payments_amount_check" CHECK ("external_payments"."amount_pkr" > 0)
);
--> statement-breakpoint
CREATE TABLE "household_field_sources" (
	"household" bigint NOT NULL,
	"field" text NOT NULL,
	"source" text NOT NULL,
	"change_set_id" uuid NOT NULL,
	"changed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "household_field_sources_household_field_pk" PRIMARY KEY("household","field")
);
--> statement-breakpoint
ALTER TABLE "change_set_rows" ADD CONSTRAINT "change_set_rows_change_set_id_change_sets_id_fk" FOREIGN KEY ("change_set_id") REFERENCES "public"."change_sets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "change_sets" ADD CONSTRAINT "change_sets_import_id_exchange_imports_id_fk" FOREIGN KEY ("import_id") REFERENCES "public"."exchange_imports"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "change_sets" ADD CONSTRAINT "change_sets_agreement_id_agreements_id_fk" FOREIGN KEY ("agreement_id") REFERENCES "public"."agreements"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exchange_export_chunks" ADD CONSTRAINT "exchange_export_chunks_export_id_exchange_exports_id_fk" FOREIGN KEY ("export_id") REFERENCES "public"."exchange_exports"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exchange_exports" ADD CONSTRAINT "exchange_exports_agreement_id_agreements_id_fk" FOREIGN KEY ("agreement_id") REFERENCES "public"."agreements"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exchange_imports" ADD CONSTRAINT "exchange_imports_agreement_id_agreements_id_fk" FOREIGN KEY ("agreement_id") REFERENCES "public"."agreements"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "external_payments" ADD CONSTRAINT "external_payments_import_id_exchange_imports_id_fk" FOREIGN KEY ("import_id") REFERENCES "public"."exchange_imports"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "external_payments" ADD CONSTRAINT "external_payments_agreement_id_agreements_id_fk" FOREIGN KEY ("agreement_id") REFERENCES "public"."agreements"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "household_field_sources" ADD CONSTRAINT "household_field_sources_change_set_id_change_sets_id_fk" FOREIGN KEY ("change_set_id") REFERENCES "public"."change_sets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "exchange_exports_agreement_idx" ON "exchange_exports" USING btree ("agreement_id");--> statement-breakpoint
CREATE UNIQUE INDEX "exchange_imports_once_idx" ON "exchange_imports" USING btree ("agreement_id","kind","sha256");--> statement-breakpoint
CREATE UNIQUE INDEX "external_payments_row_idx" ON "external_payments" USING btree ("import_id","row_no");--> statement-breakpoint
CREATE INDEX "external_payments_incident_idx" ON "external_payments" USING btree ("incident","purpose");
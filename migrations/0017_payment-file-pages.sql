DROP INDEX "payment_instructions_file_idx";--> statement-breakpoint
DROP INDEX "payment_instructions_cancel_file_idx";--> statement-breakpoint
CREATE INDEX "payment_instructions_waiting_idx" ON "payment_instructions" USING btree ("batch_id","channel","id") WHERE state = 'released' and file_id is null;--> statement-breakpoint
CREATE INDEX "payment_instructions_file_idx" ON "payment_instructions" USING btree ("file_id","id");--> statement-breakpoint
CREATE INDEX "payment_instructions_cancel_file_idx" ON "payment_instructions" USING btree ("cancel_file_id","id");
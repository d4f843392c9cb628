DROP INDEX "payment_instructions_batch_state_idx";--> statement-breakpoint
DROP INDEX "payment_instructions_file_idx";--> statement-breakpoint
DROP INDEX "payment_instructions_cancel_file_idx";--> statement-breakpoint
CREATE INDEX "payment_instructions_to_cancel_idx" ON "payment_instructions" USING btree ("batch_id","channel") WHERE state = 'cancel_requested' and cancel_file_id is null;--> statement-breakpoint
CREATE INDEX "payment_instructions_reissued_idx" ON "payment_instructions" USING btree ("batch_id","line_no") WHERE attempt > 1;--> statement-breakpoint
CREATE INDEX "payment_instructions_file_idx" ON "payment_instructions" USING btree ("file_id","id") WHERE file_id is not null;--> statement-breakpoint
CREATE INDEX "payment_instructions_cancel_file_idx" ON "payment_instructions" USING btree ("cancel_file_id","id") WHERE cancel_file_id is not null;
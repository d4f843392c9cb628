ALTER TABLE "batch_lines" DROP CONSTRAINT "batch_lines_batch_id_batches_id_fk";
--> statement-breakpoint
ALTER TABLE "messages" DROP CONSTRAINT "messages_instruction_id_payment_instructions_id_fk";
--> statement-breakpoint
ALTER TABLE "payment_instructions" DROP CONSTRAINT "payment_instructions_batch_id_batches_id_fk";
--> statement-breakpoint
-- The three tables written by the million (a batch's lines, its payment instructions, their texts) check
-- their parent once per statement, over the statement's new rows, instead of once per row as a foreign key
-- does (a key-share lookup for each of 2.75 M rows cost more than writing them). The parent side keeps what
-- the foreign key kept: a batch with lines or instructions, or an instruction with texts, is never deleted,
-- and a row never moves to another parent.
CREATE FUNCTION rows_have_batch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM (SELECT DISTINCT batch_id FROM new_rows) n WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = n.batch_id)) THEN
    RAISE EXCEPTION '%: a row of a batch that does not exist', TG_TABLE_NAME USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER batch_lines_have_batch AFTER INSERT ON batch_lines REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rows_have_batch();
--> statement-breakpoint
CREATE TRIGGER payment_instructions_have_batch AFTER INSERT ON payment_instructions REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rows_have_batch();
--> statement-breakpoint
CREATE FUNCTION messages_have_instruction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM payment_instructions i WHERE i.id = n.instruction_id)) THEN
    RAISE EXCEPTION 'messages: a text of an instruction that does not exist' USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER messages_have_instruction AFTER INSERT ON messages REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION messages_have_instruction();
--> statement-breakpoint
CREATE FUNCTION batches_keep_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM batch_lines WHERE batch_id = OLD.id) OR EXISTS (SELECT 1 FROM payment_instructions WHERE batch_id = OLD.id) THEN
    RAISE EXCEPTION 'batch % has lines or instructions: it is never deleted', OLD.id USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN OLD;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER batches_keep_rows BEFORE DELETE ON batches FOR EACH ROW EXECUTE FUNCTION batches_keep_rows();
--> statement-breakpoint
CREATE FUNCTION payment_instructions_keep_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM messages WHERE instruction_id = OLD.id) THEN
    RAISE EXCEPTION 'instruction % has texts: it is never deleted', OLD.id USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN OLD;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER payment_instructions_keep_messages BEFORE DELETE ON payment_instructions FOR EACH ROW EXECUTE FUNCTION payment_instructions_keep_messages();
--> statement-breakpoint
CREATE FUNCTION rows_keep_parent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%: a row never moves to another parent', TG_TABLE_NAME USING ERRCODE = 'check_violation';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER payment_instructions_keep_batch BEFORE UPDATE OF batch_id ON payment_instructions FOR EACH ROW WHEN (NEW.batch_id IS DISTINCT FROM OLD.batch_id) EXECUTE FUNCTION rows_keep_parent();
--> statement-breakpoint
CREATE TRIGGER messages_keep_instruction BEFORE UPDATE OF instruction_id ON messages FOR EACH ROW WHEN (NEW.instruction_id IS DISTINCT FROM OLD.instruction_id) EXECUTE FUNCTION rows_keep_parent();

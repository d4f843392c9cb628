-- The one-way check of an instruction's state runs as the trigger's WHEN condition, evaluated by the executor
-- for each row, and the function (which raises, with the same messages as before) is called only for a row
-- that breaks it: calling PL/pgSQL for each of millions of rows cost more than the update itself.
DROP TRIGGER payment_instructions_one_way ON payment_instructions;
--> statement-breakpoint
CREATE TRIGGER payment_instructions_one_way BEFORE UPDATE ON payment_instructions FOR EACH ROW
WHEN (
  (NEW.id, NEW.batch_id, NEW.line_no, NEW.attempt, NEW.channel, NEW.account, NEW.amount_pkr)
    IS DISTINCT FROM (OLD.id, OLD.batch_id, OLD.line_no, OLD.attempt, OLD.channel, OLD.account, OLD.amount_pkr)
  OR (NEW.state IS DISTINCT FROM OLD.state AND (OLD.state, NEW.state) NOT IN (
    ('released', 'exported'), ('released', 'cancelled'),
    ('exported', 'paid'), ('exported', 'failed'), ('exported', 'unclaimed'), ('exported', 'cancel_requested'),
    ('cancel_requested', 'cancelled'), ('cancel_requested', 'paid'), ('cancel_requested', 'failed'), ('cancel_requested', 'unclaimed'),
    ('failed', 'paid'), ('unclaimed', 'paid')
  ))
)
EXECUTE FUNCTION payment_instructions_one_way();
--> statement-breakpoint
-- The texts of a statement name each instruction once per language: each instruction is looked up once.
CREATE OR REPLACE FUNCTION messages_have_instruction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM (SELECT DISTINCT instruction_id FROM new_rows) n WHERE NOT EXISTS (SELECT 1 FROM payment_instructions i WHERE i.id = n.instruction_id)) THEN
    RAISE EXCEPTION 'messages: a text of an instruction that does not exist' USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END;
$$;

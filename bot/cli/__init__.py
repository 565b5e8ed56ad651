"""The `teleopd` command line: bot/cli/main.py builds the parser and runs a command; one module per command group.

| module | commands |
|---|---|
| main.py | the parser, `main()` (the console script `bot.cli.main:main`, and `python -m bot.cli`) |
| common.py | what the command modules share: CommandError, open_services, tables and one-time secrets |
| run.py | serve, worker, chat |
| chat.py | the terminal chat itself (TerminalChat) |
| opds.py | opd add/list |
| staff.py | doctor and worker-user: add, list, disable, enable, remove, new-code |
| doctors.py | doctor edit, and the registration number and qualification `doctor add` takes |
| patients.py | patient erase |
| operators.py | operator add/reset-password/remove/list |
| webchats.py | webchat list/revoke |
| broadcasts.py | broadcast create/preview/send/approve/cancel/status |
| demo.py | demo |
| reports.py | report |
| templates.py | templates |
| telegram.py | telegram set-webhook/poll |
| whatsapp.py | whatsapp sync (Twilio's Content API: buttons, lists, templates) |
| database.py | db upgrade |

Every command module registers its parsers with an `add_..._parsers(commands)` function and
imports what only its commands need (the runtime, the database, the services, the web app)
when a command runs, not at the top: main.py imports every command module to build the
parser, and `teleopd --help`, an argument error or another command should not load them all
(the runtime and the services add about a second to every start). Those imports are the
only ones inside functions here, each marked "loaded when the command runs".
"""

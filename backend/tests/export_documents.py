"""The documents of a realistic project, written the way the conversation writes them: a
heading per section with its ``<!-- section:key -->`` marker under it, in the project's words.
The export layout tests map these."""

from app.projects.stages import DocumentType

IDEA = """# Idea: Corner Bakery Pre-orders

<!-- section:summary -->
Neighbourhood bakeries take pre-orders for the next morning, so nothing is baked in vain.
Customers pick up on their way to work.

## Target audience
<!-- section:audience -->
- Small bakeries with one or two shops
- Commuters who buy breakfast on the way

## User journeys
<!-- section:user_journeys -->
- A customer orders two croissants in the evening and picks them up at 7:30
- A baker sees tomorrow's orders at closing time and plans the dough

## Goals and KPIs
<!-- section:goals_kpis -->
- 30% less unsold bread after three months
- 200 weekly orders per bakery

## Hidden dependencies and critical points
<!-- section:dependencies_risks -->
- Payment provider outages at peak evening hours
"""

SPECS = """# Specifications

## Coding standards
<!-- section:coding_standards -->
All code is typed and formatted by the project's formatter.

- Every public function has type hints
- The linter runs on every commit

## Security requirements
<!-- section:security_requirements -->
- When a customer signs in, the system shall send a one-time code by e-mail
- Passwords are never stored
- If a payment fails, the system must keep the order unpaid

## Test strategy
<!-- section:test_strategy -->
Tests talk to a real database; each behaviour has one test.

## Коды доступа
<!-- section:data_protection -->
- Личные данные хранятся не дольше года
"""

ARCHITECTURE = """# Architecture

The service is a Python monolith with a web client.

## Technology stack
<!-- section:stack -->
- Python 3.13 with FastAPI
- PostgreSQL 18
- React with TypeScript

## Architectural patterns
<!-- section:patterns -->
- Router, service, repository in each domain package

## Components
<!-- section:components -->
- `orders`: pre-orders and pick-up slots
- `bakeries`: shops, opening hours and menus
"""

PLAN = """# Plan

## Phases
<!-- section:phases -->
### Phase 1: Orders
- [ ] Create the orders table and its migration
- [ ] Accept a pre-order through the API
### Phase 2: Bakers
- [x] Show tomorrow's orders to the baker

## Risks
<!-- section:risks -->
- The payment provider may be slow in the evening
"""

DOCUMENTS: dict[DocumentType, str] = {
    DocumentType.IDEA: IDEA,
    DocumentType.SPECS: SPECS,
    DocumentType.ARCHITECTURE: ARCHITECTURE,
    DocumentType.PLAN: PLAN,
}
PLAN_WITHOUT_CHECKLIST = "# Plan\n\n## Tasks\n<!-- section:tasks -->\n- Build the orders API\n"
